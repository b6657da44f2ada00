// Package partner loads and validates trading partner profiles.
package partner
