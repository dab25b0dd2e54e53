/**
 * The reason a file-system call failed, as a user can act on it: the errno code, its meaning and the
 * call (`EISDIR: illegal operation on a directory (rename)`). Node's own message also names the
 * paths it was given, which are often temporary names (`.model.safetensors.tmp-…`); the caller names
 * the file the user knows instead.
 */
export function fsReason(e: unknown): string {
  const err = e as NodeJS.ErrnoException | undefined;
  if (!err || typeof err.code !== 'string') return e instanceof Error ? e.message : String(e);
  // "EISDIR: illegal operation on a directory, rename 'a' -> 'b'" → "illegal operation on a directory"
  const m = /^[A-Z0-9_]+: ([^,]+)/.exec(err.message);
  const what = m ? m[1] : err.message;
  return `${err.code}: ${what}${err.syscall ? ` (${err.syscall})` : ''}`;
}
