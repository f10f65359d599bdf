-- Who made a movement by hand: the support agent behind a manual adjustment (AdjustInventory),
-- empty for movements a system fed.
ALTER TABLE inventory_movements ADD COLUMN actor TEXT NOT NULL DEFAULT '';
