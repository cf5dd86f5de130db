{
  "targets": [
    {
      "target_name": "bpf_loader",
      "sources": [
        "src/addon/addon.c",
        "src/addon/object.c",
        "src/addon/attach.c",
        "src/addon/map.c",
        "src/addon/ringbuf.c",
        "src/addon/privileges.c",
        "src/addon/features.c"
      ],
      "cflags": ["-std=gnu11", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-missing-field-initializers"],
      "libraries": ["-lbpf", "-lelf", "-lz"]
    }
  ]
}
