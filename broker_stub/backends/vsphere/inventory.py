"""Find things in vSphere's inventory: VMs in a folder or resource pool, by path or name,
their extraConfig, and Rubicon's mark.

Reads go through the PropertyCollector, one round trip for a whole folder,
instead of one per property of each VM.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from broker_stub.backends.base import BackendError
from broker_stub.backends.vsphere.connection import vim, vmodl

# The extraConfig key that names the pool a VM belongs to: set on every clone the
# broker makes (the only VMs it deletes), and by the admin for `tagged = true`.
MARK = "rubicon.pool"
VNC_ENABLED = "RemoteDisplay.vnc.enabled"
VNC_PORT = "RemoteDisplay.vnc.port"
VNC_PASSWORD = "RemoteDisplay.vnc.password"  # noqa: S105 (a key, not a password)


def collect(si: Any, root: Any, properties: Iterable[str]) -> list[tuple[Any, dict[str, Any]]]:
    """(VM, {property: value}) for every VM under `root` (a folder, datacenter,
    resource pool, cluster or host); a property a VM lacks is missing from its dict."""
    content = si.content
    view = content.viewManager.CreateContainerView(root, [vim.VirtualMachine], True)
    collector = vmodl.query.PropertyCollector
    try:
        spec = collector.FilterSpec(
            objectSet=[
                collector.ObjectSpec(
                    obj=view,
                    skip=True,
                    selectSet=[
                        collector.TraversalSpec(
                            name="view", path="view", skip=False, type=vim.view.ContainerView
                        )
                    ],
                )
            ],
            propSet=[collector.PropertySpec(type=vim.VirtualMachine, pathSet=list(properties))],
        )
        found: list[tuple[Any, dict[str, Any]]] = []
        result = content.propertyCollector.RetrievePropertiesEx([spec], collector.RetrieveOptions())
        while result is not None:
            found += [(o.obj, {p.name: p.val for p in o.propSet}) for o in result.objects]
            if not result.token:
                break
            result = content.propertyCollector.ContinueRetrievePropertiesEx(result.token)
        return found
    finally:
        view.DestroyView()


def read(si: Any, obj: Any, properties: Iterable[str]) -> dict[str, Any]:
    """Properties of one object in one round trip; one that is unset is missing.

    (Reading an unset property one by one crashes vcsim 0.24's Fetch; this does not.)"""
    collector = vmodl.query.PropertyCollector
    spec = collector.FilterSpec(
        objectSet=[collector.ObjectSpec(obj=obj, skip=False)],
        propSet=[collector.PropertySpec(type=type(obj), pathSet=list(properties))],
    )
    result = si.content.propertyCollector.RetrievePropertiesEx([spec], collector.RetrieveOptions())
    if result is None or not result.objects:
        return {}
    return {p.name: p.val for p in result.objects[0].propSet}


def at_path(si: Any, path: str, what: str) -> Any:
    """The inventory object at `path` ("DC1/vm/Lab"); BackendError naming `what` if none."""
    found = si.content.searchIndex.FindByInventoryPath(path)
    if found is None:
        raise BackendError(
            f"there is no {what} {path!r} in vSphere's inventory; give its full path from the "
            "datacenter, as the vSphere client shows it (e.g. DC1/vm/Lab for a VM folder, "
            "DC1/host/Cluster1/Resources/Lab for a resource pool)"
        )
    return found


def extra_config(options: Iterable[Any] | None) -> dict[str, str]:
    """A VM's extraConfig as a dict (keys as vSphere spells them)."""
    return {str(o.key): str(o.value) for o in options or [] if o.value is not None}


def option_values(values: Mapping[str, str]) -> list[Any]:
    """extraConfig entries for a ConfigSpec."""
    return [vim.option.OptionValue(key=key, value=value) for key, value in values.items()]


def vm_named(si: Any, root: Any, name: str) -> Any | None:
    """The VM called `name` under `root`, or None."""
    for vm, properties in collect(si, root, ["name"]):
        if properties.get("name") == name:
            return vm
    return None
