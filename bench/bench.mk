# Benchmarks: never part of `make test`.
$(BUILD)/bench/ips: bench/ips.c $(REL_LIB_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(REL_CFLAGS) -o $@ $^ $(LDLIBS)

.PHONY: bench-ips
bench-ips: deps $(BUILD)/bench/ips
	./$(BUILD)/bench/ips
