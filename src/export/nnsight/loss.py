
# Per-token loss: -log p of each next token of each text.
rows = [next_token_loss(to_ids(text, bos)) for text in TEXTS]
per_token = torch.full((len(rows), max(len(row) for row in rows)), float("nan"))
for i, row in enumerate(rows):
    per_token[i, :len(row)] = row
grid("loss.per_token", ["text", "pos"], per_token)
results["metrics"]["loss"] = torch.cat(rows).mean().item()
