"""The labeled duplicate / non-duplicate pairs the dedup threshold is chosen on."""
