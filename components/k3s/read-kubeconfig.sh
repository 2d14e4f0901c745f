#!/bin/sh
# Prints the admin kubeconfig. Its output is a secret.

wait_for 300 "/etc/rancher/k3s/k3s.yaml" test -s /etc/rancher/k3s/k3s.yaml
cat /etc/rancher/k3s/k3s.yaml
