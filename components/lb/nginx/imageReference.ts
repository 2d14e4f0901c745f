/** Docker image references, per the grammar of github.com/distribution/reference. */

const ALNUM = "[a-z0-9]+";
const SEPARATOR = "(?:[._]|__|[-]+)";
const PATH_COMPONENT = `${ALNUM}(?:${SEPARATOR}${ALNUM})*`;
const DOMAIN_COMPONENT = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const DOMAIN = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?`;
const NAME = `(?:${DOMAIN}/)?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*`;
const TAG = "[\\w][\\w.-]{0,127}";
const DIGEST = "[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9A-Fa-f]{32,}";
const REFERENCE = new RegExp(`^(${NAME})(?::${TAG})?(?:@${DIGEST})?$`);
const MAX_NAME_LENGTH = 255;

/** Why `image` is not a Docker image reference (e.g. nginx:stable), or undefined. */
export function imageReferenceProblem(image: string): string | undefined {
  const match = REFERENCE.exec(image);
  if (!match) {
    return (
      "is not a Docker image reference (expected [registry/]repository[:tag][@digest] with a " +
      "lowercase repository, e.g. nginx:stable)"
    );
  }
  if (match[1].length > MAX_NAME_LENGTH) {
    return `has a repository name longer than ${MAX_NAME_LENGTH} characters`;
  }
  return undefined;
}
