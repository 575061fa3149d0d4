import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { loadFileDescriptorSetFromBuffer, type PackageDefinition } from "@grpc/proto-loader";

/**
 * Path of the FileDescriptorSet that `npm run gen` writes with `buf build`.
 * It is the whole contract (proto/whaleshark/v1) and feeds server reflection,
 * so tools in any language can call our services from the `.proto` files alone.
 */
export const descriptorSetPath = fileURLToPath(new URL("../../gen/descriptor.binpb", import.meta.url));

let cached: PackageDefinition | undefined;

/** The contracts as a proto-loader package definition (loaded once, then cached). */
export function contractDescriptor(): PackageDefinition {
  if (!cached) {
    cached = loadFileDescriptorSetFromBuffer(readFileSync(descriptorSetPath), {
      keepCase: false,
      longs: String,
      enums: String,
      defaults: true,
      oneofs: true,
    });
  }
  return cached;
}

/** Fully qualified names of every service the contracts define, e.g. `whaleshark.v1.UserService`. */
export function contractServiceNames(): string[] {
  return Object.entries(contractDescriptor())
    .filter(([, def]) => !("format" in def) && typeof def === "object")
    .map(([name]) => name)
    .sort();
}
