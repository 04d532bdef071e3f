vectors = torch.stack(vectors)
centred = vectors - vectors.mean(0)
if METHOD == "pca":
    _, singular, right = torch.linalg.svd(centred, full_matrices=False)
    direction = right[0] if centred[0] @ right[0] >= 0 else -right[0]
    results["metrics"]["direction.explained"] = (singular[0] ** 2 / (singular**2).sum()).item()
else:
    half = len(vectors) // 2
    direction = vectors[:half].mean(0) - vectors[half:].mean(0)
    direction = direction / direction.norm()
grid("direction.projection", ["text"], centred @ direction)
grid("direction.vector", ["d_model"], direction)
