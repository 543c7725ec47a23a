"""References (references.html) and Bundles (bundle.html): what a reference may point at,
and the rules that tie a Bundle's entries together.

- A `Type/id` reference names a type the element's target profiles allow.
- In a Bundle, `fullUrl` is absolute and, when RESTful (`.../Patient/123`), agrees with
  the resource's type and id; link relations occur once; search results have ids.
- References inside a Bundle resolve against the entries' fullUrls (relative ones against
  the referring entry's base): a match must be of the type the reference names, and be
  the only one; in documents and messages a reference must resolve inside the Bundle.

Run by `$validate` (full validation), not on write.
"""

from __future__ import annotations

import re
from typing import Any

from ember.fhir.issues import Issue
from ember.fhir.model import Model
from ember.fhir.validation.walk import Instance, instances

_ABSOLUTE = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:\S+")
# [base/]Type/id[/_history/version]
_RESTFUL = re.compile(
    r"(?P<base>.*?)(?P<type>[A-Z][A-Za-z]+)/(?P<id>[A-Za-z0-9\-.]{1,64})"
    r"(?:/_history/(?P<version>[A-Za-z0-9\-.]{1,64}))?"
)
_SELF_CONTAINED_TYPES = ("document", "message")  # references resolve inside the Bundle
_STRUCTURE_DEFINITION = "http://hl7.org/fhir/StructureDefinition/"


def check_references(resource: dict[str, Any], model: Model) -> list[Issue]:
    issues: list[Issue] = []
    bundles: dict[int, _BundleIndex] = {}  # by id() of an entry's resource
    for instance in instances(resource, model):
        if instance.element is None and instance.type_name == "Bundle":
            index = _BundleIndex(instance.value, instance.path, model, issues)
            for entry_resource in index.resources():
                bundles[id(entry_resource)] = index
        elif instance.type_name == "Reference":
            reference = instance.value.get("reference")
            if isinstance(reference, str) and not reference.startswith("#"):
                _check_target_type(instance, reference, model, issues)
                index = bundles.get(id(instance.root))
                if index is not None:
                    index.resolve(instance, reference, issues)
    return issues


def _allowed_types(instance: Instance) -> set[str] | None:
    """The resource types the element's target profiles allow; None when any type."""
    element = instance.element
    if element is None or not element.target_profiles:
        return None
    types = {url.removeprefix(_STRUCTURE_DEFINITION) for url in element.target_profiles}
    return None if "Resource" in types else types


def _check_target_type(
    instance: Instance, reference: str, model: Model, issues: list[Issue]
) -> None:
    match = _RESTFUL.fullmatch(reference)
    allowed = _allowed_types(instance)
    if match is None or allowed is None or not model.is_resource_type(match["type"]):
        return
    if match["type"] not in allowed and not any(
        model.is_subtype(match["type"], t) for t in allowed
    ):
        diagnostics = (
            f"The reference '{reference}' is to a {match['type']}, but "
            f"{instance.element.path if instance.element else 'the element'} allows "
            + ", ".join(sorted(allowed))
        )
        issues.append(Issue("error", "structure", diagnostics, instance.path))


class _BundleIndex:
    """A Bundle's entries by fullUrl, and the checks of its entries and links."""

    def __init__(
        self, bundle: dict[str, Any], path: str, model: Model, issues: list[Issue]
    ) -> None:
        self.bundle_type = bundle.get("type")
        self.model = model
        self.entries: list[tuple[str | None, dict[str, Any]]] = []  # (fullUrl, resource)
        self.full_urls: dict[int, str] = {}  # id() of a resource -> its entry's fullUrl
        for index, entry in enumerate(bundle.get("entry", ())):
            if isinstance(entry, dict):
                self._entry(entry, f"{path}.entry[{index}]", issues)
        self._links(bundle.get("link", ()), path, issues)

    def resources(self) -> list[dict[str, Any]]:
        return [resource for _, resource in self.entries]

    def _entry(self, entry: dict[str, Any], path: str, issues: list[Issue]) -> None:
        full_url = entry.get("fullUrl")
        resource = entry.get("resource")
        if not isinstance(resource, dict):
            return
        if isinstance(full_url, str):
            self.full_urls[id(resource)] = full_url
            if _ABSOLUTE.fullmatch(full_url) is None:
                diagnostics = f"The fullUrl must be an absolute URL (not '{full_url}')"
                issues.append(Issue("error", "invalid", diagnostics, path))
            else:
                self._restful_full_url(full_url, resource, path, issues)
        self.entries.append((full_url if isinstance(full_url, str) else None, resource))
        if self.bundle_type == "searchset":
            self._search_entry(entry, resource, path, issues)

    def _search_entry(
        self, entry: dict[str, Any], resource: dict[str, Any], path: str, issues: list[Issue]
    ) -> None:
        """Matches and includes have ids; outcomes are OperationOutcomes."""
        search = entry.get("search")
        mode = search.get("mode") if isinstance(search, dict) else None
        is_outcome = resource.get("resourceType") == "OperationOutcome"
        if mode == "outcome" and not is_outcome:
            diagnostics = "An entry with search.mode 'outcome' must be an OperationOutcome"
            issues.append(Issue("error", "invalid", diagnostics, f"{path}.resource"))
        if not is_outcome and "id" not in resource:
            diagnostics = "Search results must have ids"
            issues.append(Issue("error", "required", diagnostics, f"{path}.resource"))

    def _restful_full_url(
        self, full_url: str, resource: dict[str, Any], path: str, issues: list[Issue]
    ) -> None:
        match = _RESTFUL.fullmatch(full_url)
        if match is None or not self.model.is_resource_type(match["type"]):
            return
        if "id" not in resource:
            diagnostics = (
                f"The fullUrl '{full_url}' looks like a RESTful server URL, "
                "but the resource has no id"
            )
            issues.append(Issue("error", "invalid", diagnostics, path))
        elif (match["type"], match["id"]) != (resource.get("resourceType"), resource["id"]):
            diagnostics = (
                f"The fullUrl '{full_url}' does not match the resource's type and id "
                f"({resource.get('resourceType')}/{resource['id']})"
            )
            issues.append(Issue("error", "invalid", diagnostics, path))

    def _links(self, links: Any, path: str, issues: list[Issue]) -> None:
        seen: set[str] = set()
        for index, link in enumerate(links if isinstance(links, list) else ()):
            relation = link.get("relation") if isinstance(link, dict) else None
            if relation in seen:
                diagnostics = f"The link relation '{relation}' can only occur once"
                issues.append(Issue("error", "invalid", diagnostics, f"{path}.link[{index}]"))
            seen.add(relation)

    def resolve(self, instance: Instance, reference: str, issues: list[Issue]) -> None:
        target = self._absolute(reference, instance.root)
        if target is None:
            return
        url, version = target
        matches = [
            resource
            for full_url, resource in self.entries
            if full_url == url
            and (version is None or resource.get("meta", {}).get("versionId") == version)
        ]
        if len(matches) > 1:
            diagnostics = f"Multiple matches in the Bundle for the reference '{reference}'"
            issues.append(Issue("error", "invalid", diagnostics, instance.path))
        elif not matches:
            if self.bundle_type in _SELF_CONTAINED_TYPES:
                diagnostics = f"Can't find '{reference}' in the Bundle"
                issues.append(Issue("error", "not-found", diagnostics, instance.path))
        else:
            named = _RESTFUL.fullmatch(reference)
            found_type = matches[0].get("resourceType")
            if named is not None and named["type"] != found_type:
                diagnostics = (
                    f"The reference '{reference}' resolves to a {found_type} in the Bundle"
                )
                issues.append(Issue("error", "structure", diagnostics, instance.path))

    def _absolute(self, reference: str, referrer: dict[str, Any]) -> tuple[str, str | None] | None:
        """The fullUrl (and version) a reference points at, if it can be worked out."""
        if _ABSOLUTE.fullmatch(reference) is not None:
            match = _RESTFUL.fullmatch(reference)
            if match is not None and match["version"] is not None:
                return reference.split("/_history/", 1)[0], match["version"]
            return reference, None
        match = _RESTFUL.fullmatch(reference)
        if match is None or match["base"]:
            return None
        # relative: against the RESTful base of the referring entry's fullUrl; without
        # one it matches no entry (bundle.html#references: no matching on type and id)
        referrer_url = self.full_urls.get(id(referrer), "")
        base = _RESTFUL.fullmatch(referrer_url)
        if base is None or not base["base"]:
            return "", None
        return f"{base['base']}{match['type']}/{match['id']}", match["version"]
