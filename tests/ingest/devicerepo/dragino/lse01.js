// Dragino LSE01 before firmware 1.1.4, written for placehub's tests from Dragino's user manual:
// battery, DS18B20 (0.1 °C), soil moisture (0.01 %), soil temperature (0.01 °C), EC (uS/cm).
function s16(b, i) { var v = (b[i] << 8) | b[i + 1]; return v & 0x8000 ? v - 0x10000 : v; }
function decodeUplink(input) {
  var b = input.bytes;
  if (input.fPort !== 2) { return {errors: ['unknown FPort']}; }
  if (b.length !== 11) { return {errors: ['payload must be 11 bytes']}; }
  return {data: {
    Bat: (((b[0] << 8) | b[1]) & 0x3FFF) / 1000,
    TempC_DS18B20: (s16(b, 2) / 10).toFixed(1),
    water_SOIL: (((b[4] << 8) | b[5]) / 100).toFixed(2),
    temp_SOIL: (s16(b, 6) / 100).toFixed(2),
    conduct_SOIL: (b[8] << 8) | b[9]
  }};
}
