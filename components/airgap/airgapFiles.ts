/** Puts the air-gap files on one host: a staging dir, a copy of each file, and their verification. */
import * as pulumi from "@pulumi/pulumi";
import { remote, types } from "@pulumi/command";
import { AirgapConfig } from "../config/types";
import { hostStep } from "../host/hostStep";
import {
  AIRGAP_INSTALLER_FILE,
  AIRGAP_K3S_FILE,
  AIRGAP_STAGING_DIR,
  AirgapFile,
  airgapStagingScript,
  airgapVerifyScript,
  removeAirgapStagingScript,
  removeAirgapVerifiedScript,
} from "./scripts";
import { imagesFileName } from "./section";

export interface AirgapFilesArgs {
  connection: types.input.remote.ConnectionArgs;
  sudo: boolean;
  /** Absolute local paths and their sums. */
  airgap: AirgapConfig;
}

export interface AirgapSteps {
  /** The first step on the host: checks the tools the scripts need, then makes the staging dir. */
  staging: remote.Command;
  /** The verification of the copies: install after it. */
  verified: remote.Command;
}

/** A host's step: its full name and options (parent, aliases) for a role such as "airgap-k3s". */
export type StepNaming = (role: string) => { name: string; opts: pulumi.CustomResourceOptions };

/**
 * Copies the files over SSH as the SSH user (CopyToRemote has no sudo), then verifies root's own
 * copies against the configured sums.
 */
export function airgapFiles(step: StepNaming, args: AirgapFilesArgs): AirgapSteps {
  const { connection, sudo, airgap } = args;
  const stagingStep = step("airgap-staging");
  const staging = hostStep(
    stagingStep.name,
    { connection, sudo, create: airgapStagingScript(), delete: removeAirgapStagingScript() },
    stagingStep.opts,
  );
  const files: (AirgapFile & { local: string; role: string })[] = [
    {
      role: "k3s",
      local: airgap.k3sBinary,
      name: AIRGAP_K3S_FILE,
      sha256: airgap.sha256.k3s,
      sumKey: "airgap.sha256.k3s",
    },
    {
      role: "installer",
      local: airgap.installScript,
      name: AIRGAP_INSTALLER_FILE,
      sha256: airgap.sha256.installScript,
      sumKey: "airgap.sha256.installScript",
    },
  ];
  const images = imagesFileName(airgap);
  if (airgap.imagesTarball && images && airgap.sha256.images) {
    files.push({
      role: "images",
      local: airgap.imagesTarball,
      name: images,
      sha256: airgap.sha256.images,
      sumKey: "airgap.sha256.images",
    });
  }
  const copies = files.map((f) => {
    const copy = step(`airgap-${f.role}`);
    return new remote.CopyToRemote(
      copy.name,
      {
        connection,
        source: new pulumi.asset.FileAsset(f.local),
        remotePath: `${AIRGAP_STAGING_DIR}/${f.name}`,
      },
      { ...copy.opts, dependsOn: [staging] },
    );
  });
  const verifyStep = step("airgap-verify");
  const verified = hostStep(
    verifyStep.name,
    {
      connection,
      sudo,
      create: airgapVerifyScript(
        files.map(({ name, sha256, sumKey }) => ({ name, sha256, sumKey })),
      ),
      delete: removeAirgapVerifiedScript(),
    },
    { ...verifyStep.opts, dependsOn: copies },
  );
  return { staging, verified };
}
