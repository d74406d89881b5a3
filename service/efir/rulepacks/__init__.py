"""Rule packs: versioned YAML data shipped in the package (DESIGN section 4)."""

from efir.rulepacks.loader import PackError, RulePack, available_packs, load_pack

__all__ = ["PackError", "RulePack", "available_packs", "load_pack"]
