/**
 * The providers' Diff, as the engine receives it over gRPC (plugin.DiffResult).
 *
 * - `command:remote:Command`, `command:local:Command`, `command:remote:CopyToRemote`:
 *   pulumi-command v1.2.1 builds them with pulumi-go-provider v1.3.0 `infer`; their Diff is
 *   `infer/resource.go` Diff/diff with the resources' schema (`provider/pkg/provider/common/
 *   inputs.go`, used by both Commands, and `remote/copy.go` tag `triggers` replaceOnChanges; all
 *   three have Update), converted by `provider.go` DiffResponse.rpc.
 * - every other custom type (docker:*, pulumi:providers:*): no modelled provider. Any change of
 *   an input is a replacement: STRICTER than the real providers, which update some in place.
 */
import { parsePath } from "./paths";
import {
  DiffKind,
  PropertyMap,
  asReplace,
  detailedDiffOf,
  diffMaps,
  isReplaceKind,
} from "./values";

export const COMMAND_TYPE = "command:remote:Command";
export const LOCAL_COMMAND_TYPE = "command:local:Command";
export const COPY_TYPE = "command:remote:CopyToRemote";

/** plugin.DiffRequest (the parts the models read). */
export interface DiffRequest {
  urn: string;
  type: string;
  oldInputs: PropertyMap;
  oldOutputs: PropertyMap;
  newInputs: PropertyMap;
  ignoreChanges: string[];
}

/** plugin.DiffResult. `unknown` asks the engine to diff the inputs itself. */
export interface DiffResult {
  changes: "none" | "some" | "unknown";
  replaceKeys: string[];
  changedKeys: string[];
  detailedDiff?: Record<string, DiffKind>;
  deleteBeforeReplace: boolean;
}

export interface ProviderModel {
  /** What the model stands for, for messages. */
  describe: string;
  diff(req: DiffRequest): DiffResult;
}

/**
 * infer's Diff for a resource with `schemaReplaceOnChanges` input properties and (or not) an
 * Update method. Faithful quirks: ignoreChanges are applied only for TOP-LEVEL keys, with the
 * value from the old STATE (outputs); `version` and `__`-prefixed keys are dropped from the new
 * inputs only; the schema's replaceOnChanges is matched against the full detailed-diff path, so
 * it catches `triggers` added or removed as a whole but not a changed element (`triggers[0]`),
 * which the SDK's forced `replaceOnChanges: ["triggers[*]"]` catches in the engine instead;
 * DeleteBeforeReplace is never set.
 */
export function inferProvider(
  describe: string,
  schemaReplaceOnChanges: string[],
  hasUpdate: boolean,
): ProviderModel {
  const replaceProps = new Set(schemaReplaceOnChanges);
  const forceReplace = (path: string) => !hasUpdate || replaceProps.has(path);
  return {
    describe,
    diff(req: DiffRequest): DiffResult {
      const inputs: PropertyMap = { ...req.newInputs };
      for (const key of req.ignoreChanges) {
        if (key in req.oldOutputs) inputs[key] = req.oldOutputs[key];
      }
      for (const key of Object.keys(inputs)) {
        if (key === "version" || key.startsWith("__")) delete inputs[key];
      }
      const objDiff = diffMaps(req.oldInputs, inputs);
      const detailed: Record<string, DiffKind> = {};
      for (const [path, kind] of Object.entries(detailedDiffOf(objDiff))) {
        detailed[path] = forceReplace(path) ? asReplace(kind) : kind;
      }
      // DiffResponse.rpc: keys are reduced to the head of their path.
      const diffs = new Set<string>();
      const replaces = new Set<string>();
      for (const [path, kind] of Object.entries(detailed)) {
        const head = parsePath(path)[0];
        const key = typeof head === "string" ? head : path;
        diffs.add(key);
        if (isReplaceKind(kind)) replaces.add(key);
      }
      return {
        changes: objDiff ? "some" : "none",
        replaceKeys: [...replaces].sort(),
        changedKeys: [...diffs].sort(),
        detailedDiff: detailed,
        deleteBeforeReplace: false,
      };
    },
  };
}

export const COMMAND_PROVIDER = inferProvider(
  "pulumi-command v1.2.1 remote.Command",
  ["triggers"],
  true,
);
export const LOCAL_COMMAND_PROVIDER = inferProvider(
  "pulumi-command v1.2.1 local.Command",
  ["triggers"],
  true,
);
export const COPY_PROVIDER = inferProvider(
  "pulumi-command v1.2.1 remote.CopyToRemote",
  ["triggers"],
  true,
);

/** Unmodelled providers: every changed input replaces (stricter than real). */
export const REPLACE_ON_ANY_CHANGE: ProviderModel = {
  describe: "no modelled provider: any input change replaces (stricter than real)",
  diff(req: DiffRequest): DiffResult {
    const objDiff = diffMaps(req.oldInputs, req.newInputs);
    const detailed = Object.fromEntries(
      Object.entries(detailedDiffOf(objDiff)).map(([p, k]) => [p, asReplace(k)]),
    );
    const keys = [...new Set(Object.keys(detailed).map((p) => String(parsePath(p)[0])))].sort();
    return {
      changes: objDiff ? "some" : "none",
      replaceKeys: keys,
      changedKeys: keys,
      detailedDiff: detailed,
      deleteBeforeReplace: false,
    };
  },
};

export type ProviderRegistry = (type: string) => ProviderModel;

export const defaultProviders: ProviderRegistry = (type) => {
  if (type === COMMAND_TYPE) return COMMAND_PROVIDER;
  if (type === LOCAL_COMMAND_TYPE) return LOCAL_COMMAND_PROVIDER;
  if (type === COPY_TYPE) return COPY_PROVIDER;
  return REPLACE_ON_ANY_CHANGE;
};
