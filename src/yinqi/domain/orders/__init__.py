"""Payment orders: the aggregate (`order`), its state machine (`lifecycle`), its hash-chained
history (`events`), the commands that change it (`commands`) and the validation of new orders
(`checks`). Pure: no I/O, no clock."""
