"""One mail protocol per module, blocking, converting wire types to model types at this edge."""
