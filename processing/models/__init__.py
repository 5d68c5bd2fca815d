# One module per topic; import every model here so Django finds it.
