// Parses WWW-Authenticate headers (RFC 7235): one or more challenges, each a scheme followed by
// comma-separated `name=value` parameters where values may be quoted strings with escapes.

export interface AuthChallenge {
  /** Lower-cased scheme: `basic`, `bearer`, ... */
  scheme: string;
  /** Parameter names lower-cased. */
  params: Record<string, string>;
}

const TOKEN_CHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;

class Scanner {
  pos = 0;
  constructor(readonly s: string) {}
  skipSpace(): void {
    while (this.pos < this.s.length && (this.s[this.pos] === " " || this.s[this.pos] === "\t"))
      this.pos++;
  }
  peek(): string | undefined {
    return this.s[this.pos];
  }
  done(): boolean {
    return this.pos >= this.s.length;
  }
  token(): string {
    const start = this.pos;
    while (this.pos < this.s.length && TOKEN_CHAR.test(this.s[this.pos] ?? "")) this.pos++;
    return this.s.slice(start, this.pos);
  }
  /** An unquoted value: lenient, up to a comma or whitespace (registries send bare URLs). */
  bare(): string {
    const start = this.pos;
    while (this.pos < this.s.length && !/[,\s]/.test(this.s[this.pos] ?? "")) this.pos++;
    return this.s.slice(start, this.pos);
  }
  quoted(): string {
    // Called on the opening quote; an unterminated string takes the rest of the header.
    this.pos++;
    let out = "";
    while (this.pos < this.s.length) {
      const c = this.s[this.pos++];
      if (c === '"') return out;
      if (c === "\\" && this.pos < this.s.length) out += this.s[this.pos++];
      else out += c;
    }
    return out;
  }
  /** True when the text at the cursor is `token =` (a parameter rather than a new scheme). */
  atParam(): boolean {
    const save = this.pos;
    const name = this.token();
    this.skipSpace();
    const isParam = name !== "" && this.peek() === "=" && this.s[this.pos + 1] !== "=";
    this.pos = save;
    return isParam;
  }
}

/** Parses every challenge in `header` (or in each of several header values). */
export function parseWwwAuthenticate(
  header: string | readonly string[] | undefined,
): AuthChallenge[] {
  if (header === undefined) return [];
  if (typeof header !== "string") return header.flatMap((h) => parseWwwAuthenticate(h));
  const sc = new Scanner(header);
  const out: AuthChallenge[] = [];
  for (;;) {
    sc.skipSpace();
    while (sc.peek() === ",") {
      sc.pos++;
      sc.skipSpace();
    }
    if (sc.done()) break;
    const scheme = sc.token();
    if (scheme === "") {
      sc.pos++; // garbage: skip a character and resynchronise
      continue;
    }
    const challenge: AuthChallenge = { scheme: scheme.toLowerCase(), params: {} };
    out.push(challenge);
    sc.skipSpace();
    // token68 form (`Negotiate abc==`): keep it under the empty name.
    if (!sc.done() && sc.peek() !== "," && !sc.atParam()) {
      const start = sc.pos;
      while (!sc.done() && sc.peek() !== ",") sc.pos++;
      challenge.params[""] = header.slice(start, sc.pos).trim();
    }
    for (;;) {
      sc.skipSpace();
      if (sc.peek() === ",") {
        const save = sc.pos;
        sc.pos++;
        sc.skipSpace();
        if (!sc.atParam()) {
          sc.pos = save;
          break;
        }
      }
      if (!sc.atParam()) break;
      const name = sc.token().toLowerCase();
      sc.skipSpace();
      sc.pos++; // '='
      sc.skipSpace();
      const value = sc.peek() === '"' ? sc.quoted() : sc.bare();
      challenge.params[name] = value;
    }
  }
  return out;
}
