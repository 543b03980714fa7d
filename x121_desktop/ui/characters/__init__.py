"""Characters in the window: the New character… dialog (Seed A and/or Seed B, the seed workflow) and the
collector that records generated seeds as their jobs finish."""
