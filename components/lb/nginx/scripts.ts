/** Chooses the single Nginx proxy's host scripts, native and Docker mode. Pure. */
import { hostScript } from "../../host/script";
import { libraryVariable } from "../../host/library";

export const NGINX_CONF_PATH = libraryVariable("NGINX_CONF");
/** The Nginx container in Docker mode, and where its config is kept on the host. */
export const NGINX_CONTAINER_NAME = libraryVariable("NGINX_CONTAINER");
export const NGINX_DOCKER_CONF_PATH = libraryVariable("NGINX_DOCKER_CONF");

export function applyNginxConfScript(): string {
  return hostScript("lb/nginx/apply-nginx-conf.sh");
}

export function removeNginxConfScript(): string {
  return hostScript("lb/nginx/remove-nginx-conf.sh");
}

/** Docker mode, before the container is created: nothing else may hold :6443. */
export function prepareNginxDockerHostScript(): string {
  return hostScript("lb/nginx/prepare-docker-host.sh");
}

export function applyNginxDockerConfScript(): string {
  return hostScript("lb/nginx/apply-docker-conf.sh");
}

export function removeNginxDockerConfScript(): string {
  return hostScript("lb/nginx/remove-docker-conf.sh");
}
