import { readFileSync } from 'node:fs';

/** The product's version and description, as the brokers API and $SYS report them. */
const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

export const VERSION: string = pkg.version;
export const SYSDESCR = 'Starling MQTT Broker';
/** EMQX reports its Erlang/OTP release; the analog here is the Node.js runtime. */
export const OTP_RELEASE = `Node.js ${process.version}`;
