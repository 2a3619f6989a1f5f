/* bench_record.h — the Avro record of every record benchmark: the schema the
 * bench plugin offers and the bench core requires (one string, so both sides
 * agree byte for byte), and the field values that make it encode to 100 bytes.
 */
#ifndef BENCH_RECORD_H
#define BENCH_RECORD_H

#define BENCH_RECORD_SCHEMA                                                              \
	"{\"type\": \"record\", \"name\": \"Reading\", \"namespace\": \"bench\", \"fields\": [" \
	"{\"name\": \"sensor\", \"type\": \"string\"}, "                                   \
	"{\"name\": \"seq\", \"type\": \"long\"}, "                                        \
	"{\"name\": \"time\", \"type\": \"double\"}, "                                     \
	"{\"name\": \"temperature\", \"type\": \"float\"}, "                               \
	"{\"name\": \"humidity\", \"type\": \"float\"}, "                                  \
	"{\"name\": \"status\", \"type\": \"string\"}, "                                   \
	"{\"name\": \"tags\", \"type\": {\"type\": \"array\", \"items\": \"string\"}}]}"

#define BENCH_RECORD_TYPE "Reading" /* message_type of its payloads */

/* Field values (see bench_inproc.c: the encoded size is checked there). */
#define BENCH_REC_SENSOR "sensor-0042.building-7.floor-3"
#define BENCH_REC_SEQ 123456
#define BENCH_REC_TIME 1763900000.25
#define BENCH_REC_TEMP 21.5f
#define BENCH_REC_HUMIDITY 40.25f
#define BENCH_REC_STATUS "status: every reading is in range"
#define BENCH_REC_TAG1 "lab"
#define BENCH_REC_TAG2 "east-wing"

#endif
