#!/bin/sh
# The resume step's delete: forgets a hold.

rm -f "$(keepalived_held_marker)"
