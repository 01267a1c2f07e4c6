// Dragino LSE01 firmware 1.1.4, written for placehub's tests from Dragino's user manual: as
// before, with a flags byte (sensor flag high nibble, hardware flag bit 2, interrupt flag).
function s16(b, i) { var v = (b[i] << 8) | b[i + 1]; return v & 0x8000 ? v - 0x10000 : v; }
function decodeUplink(input) {
  var b = input.bytes;
  if (input.fPort !== 2) { return {errors: ['unknown FPort']}; }
  if (b.length !== 11) { return {errors: ['payload must be 11 bytes']}; }
  return {data: {
    Bat: (((b[0] << 8) | b[1]) & 0x3FFF) / 1000,
    TempC_DS18B20: (s16(b, 2) / 10).toFixed(2),
    water_SOIL: (((b[4] << 8) | b[5]) / 100).toFixed(2),
    temp_SOIL: (s16(b, 6) / 100).toFixed(2),
    conduct_SOIL: (b[8] << 8) | b[9],
    Sensor_flag: b[10] >> 4,
    Hardware_flag: (b[10] >> 2) & 1,
    Interrupt_flag: b[10] & 0x0F
  }};
}
