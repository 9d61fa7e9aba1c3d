const SECRET_PARAMS = /([?&](?:password|pass|pwd|sslpassword|sslkey)=)[^&#]*/gi;

/**
 * The URL with its password replaced by `***`, for logs. Works on URLs `new URL` rejects
 * (MongoDB's multi-host `mongodb://u:p@a:1,b:2/db`) and on passwords left unencoded: the
 * user-info ends at the last `@`, so a stray `@`, `/` or `?` in a password still gets hidden
 * (at worst more than the password is hidden).
 */
export function redactUrl(url: string): string {
  const redacted = url.replace(SECRET_PARAMS, '$1***');
  const start = redacted.indexOf('://');
  if (start < 0) return redacted;
  const rest = redacted.slice(start + 3);
  const at = rest.lastIndexOf('@');
  if (at < 0) return redacted;
  const userInfo = rest.slice(0, at);
  const colon = userInfo.indexOf(':');
  if (colon < 0) return redacted;
  return `${redacted.slice(0, start + 3)}${userInfo.slice(0, colon)}:***@${rest.slice(at + 1)}`;
}
