/** Time formats of the EMQX API and $SYS topics. */

const pad = (n: number): string => String(n).padStart(2, '0');

/** "YYYY-MM-DD HH:MM:SS" in the server's local time, as EMQX shows datetimes. */
export function formatDatetime(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** "4 hours, 21 minutes, 19 seconds": leading zero units left out, as EMQX formats uptime. */
export function formatUptime(ms: number): string {
  let s = Math.floor(ms / 1000);
  const parts: [number, string][] = [
    [Math.floor(s / 86400), 'days'],
    [Math.floor((s %= 86400) / 3600), 'hours'],
    [Math.floor((s %= 3600) / 60), 'minutes'],
    [s % 60, 'seconds'],
  ];
  const first = parts.findIndex(([n]) => n > 0);
  return parts
    .slice(first < 0 ? 3 : first)
    .map(([n, unit]) => `${n} ${unit}`)
    .join(', ');
}

/** Bytes as EMQX shows memory sizes: "96.75M", "1.20G", "512.00K". */
export function formatBytes(n: number): string {
  const units: [number, string][] = [
    [1024 ** 3, 'G'],
    [1024 ** 2, 'M'],
    [1024, 'K'],
  ];
  for (const [size, unit] of units) if (n >= size) return `${(n / size).toFixed(2)}${unit}`;
  return String(n);
}
