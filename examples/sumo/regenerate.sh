#!/bin/sh
# Regenerates the SUMO example from SUMO's own tools: the network (netgenerate), the traffic
# (randomTrips.py) and the floating car data (sumo --fcd-output). Every step has a fixed seed,
# so the same SUMO version gives the same vehicles at the same times.
#
#   pip install 'ffsim[sumo]'              # eclipse-sumo (sumo, netgenerate) and sumolib
#   sh examples/sumo/regenerate.sh [DIR]   # default DIR: this folder, whose files it rewrites
#                                          # (with the same SUMO version only their dates change)
#
# Needs netgenerate and sumo on the PATH (the eclipse-sumo package installs them next to its
# python: activate that environment) and SUMO's tools/randomTrips.py: from $SUMO_HOME, or found
# by a python that imports sumo ($PYTHON, default python3). Each is checked first.
set -eu
case "${1:-}" in
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
esac
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here}
python=${PYTHON:-python3}
for tool in netgenerate sumo; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "regenerate.sh: $tool is not on the PATH: pip install 'ffsim[sumo]' and activate that environment" \
            "(. .venv/bin/activate), or install SUMO (https://eclipse.dev/sumo)" >&2
        exit 1
    fi
done
if [ -n "${SUMO_HOME:-}" ] && [ -f "$SUMO_HOME/tools/randomTrips.py" ]; then
    tools=$SUMO_HOME/tools
elif tools=$("$python" -c 'import os, sumo; print(os.path.join(sumo.SUMO_HOME, "tools"))' 2>/dev/null); then
    :
else
    echo "regenerate.sh: $python cannot import sumo (to find randomTrips.py): set PYTHON= to the python of the" \
        "environment with ffsim[sumo] (e.g. PYTHON=.venv/bin/python), or SUMO_HOME= to SUMO's folder" >&2
    exit 1
fi
if ! "$python" -c 'import sys' >/dev/null 2>&1; then
    echo "regenerate.sh: $python does not run: set PYTHON= to a python 3 (it runs randomTrips.py)" >&2
    exit 1
fi
mkdir -p "$out"
out=$(cd "$out" && pwd)
if [ "$out" != "$here" ]; then
    cp "$here/vtypes.add.xml" "$here/view-edges.txt" "$out/"
fi
cd "$out"

# a 3 x 3 grid of 200 m roads, one lane each way; the middle junction B1 has a traffic light
netgenerate --grid --grid.number 3 --grid.length 200 --tls.set B1 --no-turnarounds --seed 5 \
    -o road.net.xml

# a trip every 2 s for 3 minutes, mostly from the edge of the network, of the type mix; the
# trips are checked and routed (shortest paths) by duarouter into routes.rou.xml
"$python" "$tools/randomTrips.py" -n road.net.xml -a vtypes.add.xml --trip-attributes 'type="mix"' \
    --fringe-factor 10 --period 2 --end 180 --seed 5 -o trips.rou.xml -r routes.rou.xml

# 4 minutes at 0.1 s steps; positions (x, y: the vehicle's front, metres), speed and vType of the
# vehicles on the camera's road (view-edges.txt: the approach from the west and its other
# direction) and of a road it does not see; gzip-compressed
sumo -n road.net.xml -r routes.rou.xml --step-length 0.1 --seed 5 --end 240 \
    --fcd-output fcd.xml.gz --fcd-output.filter-edges.input-file view-edges.txt \
    --fcd-output.attributes x,y,speed,type --fcd-output.skip-empty --no-step-log
