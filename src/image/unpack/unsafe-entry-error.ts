// The error a layer gets when one of its entries would write outside the snapshot, go through a
// symlink, or is otherwise malformed. It names the entry so an operator can see what the image
// tried to do; the caller throws the partial snapshot away.
import { FailedPreconditionError } from "../../errors.js";

export class UnsafeLayerEntryError extends FailedPreconditionError {
  constructor(
    readonly entry: string,
    reason: string,
  ) {
    super(`layer entry ${JSON.stringify(entry)}: ${reason}`);
  }
}
