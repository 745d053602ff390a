// Names are unique per kind (`<name>_<namespace>_<uid>_<attempt>` for sandboxes, the same with
// the container name for containers). A name is reserved before any work starts, so two
// concurrent creates of one name cannot both proceed; a second create fails naming the id
// that holds the name, as kubelet expects.
import { AlreadyExistsError } from "../errors.js";

export class NameRegistry {
  private readonly byName = new Map<string, string>();

  constructor(private readonly kind: string) {}

  reserve(name: string, id: string): void {
    const holder = this.byName.get(name);
    if (holder !== undefined && holder !== id) {
      throw new AlreadyExistsError(
        `${this.kind} name "${name}" is reserved for ${this.kind} ${holder}`,
      );
    }
    this.byName.set(name, id);
  }

  release(name: string): void {
    this.byName.delete(name);
  }

  holder(name: string): string | undefined {
    return this.byName.get(name);
  }
}
