"""The podcast studio: episodes made from approved entries, co-host recordings and music."""
