
# Per-token loss: -log p of each next token of each text (TransformerLens's loss_per_token).
rows = [model(torch.tensor([to_ids(text, bos)]), return_type="loss", loss_per_token=True)[0] for text in TEXTS]
per_token = torch.full((len(rows), max(len(row) for row in rows)), float("nan"))
for i, row in enumerate(rows):
    per_token[i, :len(row)] = row
grid("loss.per_token", ["text", "pos"], per_token)
results["metrics"]["loss"] = torch.cat(rows).mean().item()
