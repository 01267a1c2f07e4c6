// Dragino LDDS75 / LDDS20 / LDDS45 firmware 1.1.4, written for placehub's tests from Dragino's
// user manual: battery (mV, top two bits status), distance (mm), interrupt flag, DS18B20
// temperature (0.1 °C, 0 when no probe), sensor flag; fPort 2.
function decodeUplink(input) {
  var b = input.bytes;
  if (input.fPort !== 2) { return {errors: ['unknown FPort']}; }
  if (b.length !== 8) { return {errors: ['payload must be 8 bytes']}; }
  var ds = (b[5] << 8) | b[6];
  if (ds & 0x8000) { ds -= 0x10000; }
  return {data: {
    Bat: (((b[0] << 8) | b[1]) & 0x3FFF) / 1000,
    Distance: ((b[2] << 8) | b[3]) + ' mm',
    Interrupt_flag: b[4],
    TempC_DS18B20: (ds / 10).toFixed(2),
    Sensor_flag: b[7]
  }};
}
