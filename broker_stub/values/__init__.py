"""The lowest layer of the broker: rules and value types that every part may
use, and that import nothing else of the broker.

names.py   what a username, group name, machine name or pool id may look like
fields.py  the pools file's field types (durations, ports, MAC addresses,
           commands, StrictModel), which backends' option tables use too
"""
