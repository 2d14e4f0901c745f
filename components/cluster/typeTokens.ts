/** Type tokens of the program's components, kept in one place (renaming one needs an alias). */
export const K3S_SERVER_TYPE = "k3s-ha:cluster:K3sServer";
export const K3S_AGENT_TYPE = "k3s-ha:cluster:K3sAgent";
export const HAPROXY_LB_PAIR_TYPE = "k3s-ha:lb:HaproxyLbPair";
export const NGINX_LB_TYPE = "k3s-ha:lb:NginxLb";
