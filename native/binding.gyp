{
  "targets": [
    {
      "target_name": "gsi_native",
      "sources": ["src/tcp_md5.c", "src/huge_pages.c"],
      "cflags": ["-Wall", "-Wextra", "-O2"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
