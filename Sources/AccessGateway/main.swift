print("access-gateway")
