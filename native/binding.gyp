{
  "targets": [
    {
      "target_name": "ironlb_native",
      "sources": [
        "src/ironlb_native.c",
        "src/heartbeat_pump.c",
        "src/heartbeat_pump_napi.c",
        "src/answer_thread.c",
        "src/answer_thread_napi.c",
        "src/answer_thread_io_napi.c",
        "src/l2_answer.c",
        "src/l2_answer_napi.c",
        "src/file_pages.c",
        "src/file_pages_napi.c",
        "src/v8_memory.cc"
      ],
      "defines": [
        "NAPI_VERSION=8",
        "_GNU_SOURCE"
      ],
      "cflags": [
        "-Wall",
        "-Wextra",
        "-Wno-unused-parameter",
        "-O2"
      ],
      "cflags_c": [
        "-std=gnu11",
        "-ffp-contract=off"
      ]
    }
  ]
}
