#!/usr/bin/python3
"""Runs CTS's CTSlab.py as it is, choosing the cluster manager class (vigil lab cts).

CTSlab.py has no option for the cluster manager of a haresources cluster: it always uses CM_hb.HeartbeatCM. With
CTS_CM=vigil the lab puts CM_vigil.VigilCM (a subclass, added by lab/cts/cts-py3.patch, whose every override is
explained there) in its place before CTSlab.py runs; with CTS_CM=heartbeat (the control) nothing is replaced.
Every argument goes to CTSlab.py untouched.
"""
import os
import runpy
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
if os.environ.get("CTS_CM", "heartbeat") == "vigil":
    import CM_hb
    import CM_vigil

    CM_hb.HeartbeatCM = CM_vigil.VigilCM
sys.argv[0] = os.path.join(here, "CTSlab.py")
runpy.run_path(sys.argv[0], run_name="__main__")
