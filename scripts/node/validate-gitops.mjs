// Validates Argo CD Applications and Flux Kustomizations with the models of
// @kubernetes-models (their own JSON schemas): `node validate-gitops.mjs FILE...`.
// The last line is "N passed, N failed"; the exit status is 1 when any failed.
import fs from "node:fs";
import yaml from "js-yaml";
import { Application } from "@kubernetes-models/argo-cd/argoproj.io/v1alpha1";
import { Kustomization } from "@kubernetes-models/flux-cd/kustomize.toolkit.fluxcd.io/v1";

const models = {
  "argoproj.io/v1alpha1/Application": Application,
  "kustomize.toolkit.fluxcd.io/v1/Kustomization": Kustomization,
};
let passed = 0;
let failed = 0;
for (const file of process.argv.slice(2)) {
  for (const doc of yaml.loadAll(fs.readFileSync(file, "utf8"))) {
    if (!doc) continue;
    const Model = models[`${doc.apiVersion}/${doc.kind}`];
    if (!Model) {
      console.error(`${file}: no model for ${doc.apiVersion} ${doc.kind}`);
      failed++;
      continue;
    }
    try {
      new Model(doc).validate();
      passed++;
    } catch (e) {
      console.error(`${file}: ${doc.metadata?.name}: ${e.message}`);
      failed++;
    }
  }
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
