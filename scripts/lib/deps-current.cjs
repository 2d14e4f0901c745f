// Exits 0 when node_modules holds every package package-lock.json lists at its locked version
// (an optional one may be absent: npm skips other platforms' binaries), 1 otherwise.
// scripts/up.sh runs `npm ci` only when this fails: npm ci removes node_modules and installs it
// all again, which needs the registry every time.
"use strict";
const fs = require("fs");
const path = require("path");
const process = require("process");

const root = path.resolve(process.argv[2] || ".");
let lock;
try {
  lock = JSON.parse(fs.readFileSync(path.join(root, "package-lock.json"), "utf8"));
} catch {
  process.exit(1);
}
const packages = lock.packages || {};
for (const [where, entry] of Object.entries(packages)) {
  if (where === "" || entry.link) continue;
  let installed;
  try {
    installed = JSON.parse(fs.readFileSync(path.join(root, where, "package.json"), "utf8"));
  } catch {
    if (entry.optional || entry.devOptional) continue;
    process.exit(1);
  }
  if (entry.version !== undefined && installed.version !== entry.version) process.exit(1);
}
process.exit(Object.keys(packages).length > 0 ? 0 : 1);
