/**
 * starling-ctl's exit codes, one per kind of failure, so that a script can tell "the
 * gateway is down" from "that client is not connected" without parsing messages. They are
 * listed in `starling-ctl --help` and in the README.
 */
export const EXIT = {
  OK: 0,
  /** the API refused the request: a non-zero result code other than those below */
  API_ERROR: 1,
  /** a bad command line: unknown command or option, missing or invalid argument */
  USAGE: 2,
  /** no answer from the gateway: connection refused, name not resolved, timeout, or an answer that is not the API's */
  UNREACHABLE: 3,
  /** HTTP 401: the credentials were refused */
  UNAUTHORIZED: 4,
  /** what was asked for does not exist: a client not online (112, or an empty lookup), an unknown node, an endpoint the gateway does not serve */
  NOT_FOUND: 5,
} as const;

/** The exit codes as --help lists them. */
export const EXIT_HELP: readonly [number, string][] = [
  [EXIT.OK, 'success'],
  [EXIT.API_ERROR, 'the API answered an error code (printed with its message)'],
  [EXIT.USAGE, 'bad usage: unknown command or option, missing or invalid argument'],
  [EXIT.UNREACHABLE, 'gateway unreachable, timed out, or not a management API'],
  [EXIT.UNAUTHORIZED, 'credentials refused (HTTP 401)'],
  [EXIT.NOT_FOUND, 'not found: client not online (112), unknown node, endpoint not served (404)'],
];

/** A failure the CLI reports as one line on stderr, exiting with `exitCode`. */
export class CliError extends Error {
  constructor(
    readonly exitCode: number,
    message: string,
  ) {
    super(message);
  }
}
