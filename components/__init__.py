"""Pipeline steps: each folder holds a pure-Python core and a thin KFP component wrapper."""
