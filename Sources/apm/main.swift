print("apm")
