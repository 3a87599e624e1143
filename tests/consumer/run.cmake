# Install the build tree into a scratch prefix, then build and run a consumer program with
# find_package(maf) and, separately, with pkg-config. With -DSTATIC_FROM=SOURCE_DIR: first
# configure and build a static libmaf (-DBUILD_SHARED_LIBS=OFF) from the sources, and link the
# consumers statically (pkg-config --static).
file(REMOVE_RECURSE ${WORK})
set(prefix ${WORK}/prefix)
macro(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  message(STATUS "${out}")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
endmacro()
if(STATIC_FROM)
  set(BUILD_DIR ${WORK}/static)
  run(${CMAKE_COMMAND} -S ${STATIC_FROM} -B ${BUILD_DIR} -DBUILD_SHARED_LIBS=OFF
      -DMAF_BUILD_TESTS=OFF)
  run(${CMAKE_COMMAND} --build ${BUILD_DIR} -j2)
  if(NOT EXISTS ${BUILD_DIR}/libmaf.a)
    message(FATAL_ERROR "no static libmaf.a in ${BUILD_DIR}")
  endif()
  set(static_flag --static)
endif()
run(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix})
run(${CMAKE_COMMAND} -S ${SRC} -B ${WORK}/build -DCMAKE_PREFIX_PATH=${prefix})
run(${CMAKE_COMMAND} --build ${WORK}/build)
run(${WORK}/build/consumer)
# pkg-config
find_program(PKGCONF pkg-config REQUIRED)
set(ENV{PKG_CONFIG_PATH} ${prefix}/lib/pkgconfig)
execute_process(COMMAND ${PKGCONF} ${static_flag} --cflags --libs maf OUTPUT_VARIABLE flags
                RESULT_VARIABLE rc
                OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT rc EQUAL 0 OR NOT flags MATCHES "-lmaf")
  message(FATAL_ERROR "pkg-config --libs maf failed: ${flags}")
endif()
separate_arguments(flags UNIX_COMMAND "${flags}")
run(cc ${SRC}/consumer.c -o ${WORK}/consumer_pc ${flags} -lm -Wl,-rpath,${prefix}/lib)
run(${WORK}/consumer_pc)
# the installed tool runs
run(${prefix}/bin/maf --version)
