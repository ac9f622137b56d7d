{
  "targets": [
    {
      "target_name": "gsi_native",
      "sources": ["src/bgp_socket.c", "src/huge_pages.c", "src/netlink.c"],
      "cflags": ["-Wall", "-Wextra", "-O2"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
