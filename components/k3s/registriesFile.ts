/** registries.yaml's content for every node: a secret when the stack has registry credentials. */
import * as pulumi from "@pulumi/pulumi";
import type { RegistriesConfig } from "../config/types";
import { renderRegistries } from "./registries";

export function registriesContent(
  registries: RegistriesConfig | undefined,
  credentials: pulumi.Input<string> | undefined,
): { content: pulumi.Input<string>; secret: boolean } | undefined {
  if (!registries) return undefined;
  if (credentials === undefined) return { content: renderRegistries(registries), secret: false };
  const content = pulumi.output(credentials).apply((c) => renderRegistries(registries, c));
  return { content: pulumi.secret(content), secret: true };
}
