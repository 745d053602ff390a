// Request messages for any CRI method, generated from the proto's own descriptors (so every
// RPC of both services is covered, and new fields join the fuzz by themselves), and mutations
// of well-formed templates (so the hostile value sits inside an otherwise valid request and
// reaches the checks past the first).
import * as protoLoader from "@grpc/proto-loader";
import { LOADER_OPTIONS, PROTO_PATH } from "../../../src/cri/proto.js";
import {
  BAD_ENUMS,
  HOSTILE_INT32,
  HOSTILE_INT64,
  hostileString,
  hugeCount,
} from "./hostile-values.js";
import type { Prng } from "./prng.js";

interface FieldDesc {
  name: string;
  label: string;
  type: string;
  typeName: string;
}

interface MessageDesc {
  name: string;
  field: FieldDesc[];
  nestedType: MessageDesc[];
  options: { mapEntry?: boolean } | null;
}

interface EnumDesc {
  value: { name: string; number: number }[];
}

type Json = Record<string, unknown>;

export interface MethodInfo {
  name: string;
  service: "runtime" | "image";
  request: MessageDesc;
}

export class MessageGen {
  private readonly pkg: protoLoader.PackageDefinition;

  constructor(
    private readonly rng: Prng,
    /** Real ids to mix in, so some lookups succeed. */
    private readonly ids: () => readonly string[],
  ) {
    this.pkg = protoLoader.loadSync(PROTO_PATH, LOADER_OPTIONS);
  }

  methods(): MethodInfo[] {
    const out: MethodInfo[] = [];
    for (const service of ["runtime", "image"] as const) {
      const svc = this.pkg[`runtime.v1.${service === "runtime" ? "Runtime" : "Image"}Service`];
      for (const [name, md] of Object.entries(
        svc as Record<string, protoLoader.MethodDefinition<unknown, unknown>>,
      )) {
        out.push({ name, service, request: md.requestType.type as unknown as MessageDesc });
      }
    }
    return out;
  }

  private lookup(name: string): MessageDesc | EnumDesc | undefined {
    const def = this.pkg[`runtime.v1.${name}`] as { type?: unknown } | undefined;
    return def?.type as MessageDesc | EnumDesc | undefined;
  }

  /** A random message of `desc`: each field present half the time, values hostile. */
  message(desc: MessageDesc, depth = 0): Json {
    const out: Json = {};
    for (const f of desc.field) {
      if (!this.rng.chance(0.5)) continue;
      const v = this.field(desc, f, depth);
      if (v !== undefined) out[f.name] = v;
    }
    // A request of several 1 MB strings only tests grpc-js's message limit.
    return hugeCount(out) > 2 ? {} : out;
  }

  private field(parent: MessageDesc, f: FieldDesc, depth: number): unknown {
    const entry = parent.nestedType.find((n) => n.name === f.typeName && n.options?.mapEntry);
    if (entry) {
      const map: Record<string, unknown> = {};
      const valueField = entry.field.find((x) => x.name === "value")!;
      for (let i = this.rng.int(4); i > 0; i--) {
        map[hostileString(this.rng, [])] = this.scalarOrMessage(entry, valueField, depth + 1);
      }
      return map;
    }
    if (f.label === "LABEL_REPEATED") {
      const n = this.rng.int(4);
      return Array.from({ length: n }, () => this.scalarOrMessage(parent, f, depth + 1)).filter(
        (v) => v !== undefined,
      );
    }
    return this.scalarOrMessage(parent, f, depth);
  }

  private scalarOrMessage(parent: MessageDesc, f: FieldDesc, depth: number): unknown {
    const r = this.rng;
    switch (f.type) {
      case "TYPE_STRING":
        return hostileString(r, this.ids());
      case "TYPE_BYTES":
        return Buffer.from(hostileString(r, []));
      case "TYPE_INT64":
      case "TYPE_UINT64":
        return r.pick(HOSTILE_INT64);
      case "TYPE_INT32":
      case "TYPE_UINT32":
        return r.pick(HOSTILE_INT32);
      case "TYPE_BOOL":
        return r.chance(0.5);
      case "TYPE_DOUBLE":
        return r.pick([0, -1, 1e308, Number.NaN, 0.5]);
      case "TYPE_ENUM": {
        const e = this.lookup(f.typeName) as EnumDesc | undefined;
        return e && r.chance(0.6) ? r.pick(e.value).name : r.pick(BAD_ENUMS);
      }
      case "TYPE_MESSAGE": {
        if (depth > 4) return undefined;
        const nested = parent.nestedType.find((n) => n.name === f.typeName);
        const desc = nested ?? (this.lookup(f.typeName) as MessageDesc | undefined);
        return desc?.field ? this.message(desc, depth + 1) : undefined;
      }
      default:
        return undefined;
    }
  }

  /**
   * The template with 1-3 leaves replaced by hostile values of the same kind (strings by
   * strings, numbers by numbers), or a whole sub-message emptied.
   */
  mutate(template: Json): Json {
    const copy = structuredClone(template);
    for (let n = 1 + this.rng.int(3); n > 0; n--) {
      const leaves: [Json | unknown[], string | number][] = [];
      const walk = (v: unknown): void => {
        if (Array.isArray(v)) {
          v.forEach((item, i) => {
            leaves.push([v, i]);
            walk(item);
          });
        } else if (typeof v === "object" && v !== null && !Buffer.isBuffer(v)) {
          for (const [k, item] of Object.entries(v)) {
            leaves.push([v as Json, k]);
            walk(item);
          }
        }
      };
      walk(copy);
      if (leaves.length === 0) break;
      const [holder, key] = this.rng.pick(leaves);
      const old = (holder as Record<string | number, unknown>)[key];
      (holder as Record<string | number, unknown>)[key] = this.like(old);
    }
    return hugeCount(copy) > 2 ? template : copy;
  }

  private like(old: unknown): unknown {
    const r = this.rng;
    // An int64 travels as a decimal string: it stays a number, or the client cannot encode it.
    if (typeof old === "string" && /^-?\d+$/.test(old)) return r.pick(HOSTILE_INT64);
    if (typeof old === "string") return hostileString(r, this.ids());
    if (typeof old === "number")
      return r.chance(0.5) ? r.pick(HOSTILE_INT32) : r.pick(HOSTILE_INT64);
    if (typeof old === "boolean") return !old;
    if (Buffer.isBuffer(old)) return Buffer.from(hostileString(r, []));
    if (Array.isArray(old)) {
      const items = old as unknown[];
      if (r.chance(0.5) || items.length === 0) return [];
      // One more item of the same kind as the first.
      const first = items[0];
      return [...items, typeof first === "string" ? hostileString(r, []) : this.like(first)];
    }
    if (typeof old === "object" && old !== null) {
      if (r.chance(0.3)) return {};
      // A map or message: add a hostile key as well.
      return { ...(old as Json), [hostileString(r, [])]: hostileString(r, []) };
    }
    return hostileString(r, []);
  }
}
