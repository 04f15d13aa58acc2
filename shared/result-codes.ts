/** EMQX 4.x API result codes (the `code` of every JSON answer), declared once. */
export const CODE = {
  OK: 0,
  RPC_ERROR: 101,
  UNKNOWN: 102,
  BAD_CREDENTIALS: 103,
  EMPTY_CREDENTIALS: 104,
  NO_SUCH_USER: 105,
  ADMIN_UNDELETABLE: 106,
  MISSING_PARAM: 107,
  BAD_PARAM: 108,
  BAD_JSON: 109,
  PLUGIN_LOADED: 110,
  PLUGIN_UNLOADED: 111,
  CLIENT_NOT_ONLINE: 112,
  EXISTS: 113,
  OLD_PASSWORD_WRONG: 114,
  BAD_TOPIC: 115,
  BAD_QOS: 116,
  /** not an EMQX result code: the body `code` of HTTP 404 answers (unknown path or node) */
  NOT_FOUND: 404,
  /** not an EMQX result code: the body `code` of HTTP 429 answers (an address locked out after failed logins) */
  TOO_MANY_REQUESTS: 429,
} as const;
