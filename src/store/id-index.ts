// Ids are 64 hex characters; every RPC also accepts any unique prefix, as crictl users expect.
import { randomBytes } from "node:crypto";
import { InvalidArgumentError, NotFoundError } from "../errors.js";
import { quote } from "../validate/text.js";

export function newId(): string {
  return randomBytes(32).toString("hex");
}

export class IdIndex {
  private readonly ids = new Set<string>();

  add(id: string): void {
    this.ids.add(id);
  }

  delete(id: string): void {
    this.ids.delete(id);
  }

  /** The full id for an id or unique prefix; undefined when none matches. */
  find(idOrPrefix: string): string | undefined {
    if (idOrPrefix === "") return undefined;
    if (this.ids.has(idOrPrefix)) return idOrPrefix;
    let match: string | undefined;
    for (const id of this.ids) {
      if (!id.startsWith(idOrPrefix)) continue;
      if (match !== undefined) {
        throw new InvalidArgumentError(
          "id",
          `prefix ${quote(idOrPrefix)} matches more than one id`,
        );
      }
      match = id;
    }
    return match;
  }

  resolve(idOrPrefix: string, kind: string): string {
    const id = this.find(idOrPrefix);
    if (id === undefined) throw new NotFoundError(`${kind} ${quote(idOrPrefix)} not found`);
    return id;
  }
}
