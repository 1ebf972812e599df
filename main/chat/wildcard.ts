// Account search patterns: "*" matches any run of characters, "?" exactly one, and every other
// character only itself. Translated to SQLite GLOB over the lower-cased name key, where "*" and
// "?" already mean that and the only other special character, "[", is escaped as "[[]".
// (LIKE would need "%", "_" and the escape character escaped, and "_" is a username character.)

export function wildcardToGlob(pattern: string): string {
  return pattern.toLowerCase().replaceAll('[', '[[]');
}
