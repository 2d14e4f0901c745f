// Copies every host script (components/**/*.sh) next to the built modules (bin/components/), where
// the built package reads them (components/host/script.ts). Part of `npm run build`.
import * as fs from "fs";
import * as path from "path";

const root = path.resolve(import.meta.dirname, "..");
const from = path.join(root, "components");
const to = path.join(root, "bin", "components");

function copy(dir) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const source = path.join(dir, entry.name);
    if (entry.isDirectory()) copy(source);
    else if (entry.name.endsWith(".sh")) {
      const target = path.join(to, path.relative(from, source));
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.copyFileSync(source, target);
    }
  }
}
copy(from);
